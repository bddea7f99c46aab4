-- DropIndex
DROP INDEX "domain_events_published_at_created_at_idx";

-- CreateTable
CREATE TABLE "event_fan_out_cursor" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "tx_id" xid8 NOT NULL,
    "event_id" UUID NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "event_fan_out_cursor_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "domain_events_tx_id_id_idx" ON "domain_events"("tx_id", "id");

-- The fan-out starts at the oldest event not yet fanned out (or after everything finished, when none
-- is waiting): events published before stay published, and none in flight is skipped.
INSERT INTO "event_fan_out_cursor" ("id", "tx_id", "event_id")
SELECT 1,
       COALESCE((SELECT min("tx_id") FROM "domain_events" WHERE "published_at" IS NULL),
                ((pg_snapshot_xmin(pg_current_snapshot())::text::numeric - 1)::text)::xid8),
       '00000000-0000-0000-0000-000000000000';
