-- AlterTable
ALTER TABLE "domain_events" ADD COLUMN     "tx_id" xid8 NOT NULL DEFAULT pg_current_xact_id();

-- CreateIndex
CREATE INDEX "domain_events_org_id_tx_id_id_idx" ON "domain_events"("org_id", "tx_id", "id");
