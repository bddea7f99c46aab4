-- DropForeignKey
ALTER TABLE "messages" DROP CONSTRAINT "messages_org_id_fkey";

-- DropForeignKey
ALTER TABLE "outbox_operations" DROP CONSTRAINT "outbox_operations_org_id_fkey";

-- DropForeignKey
ALTER TABLE "webhook_deliveries" DROP CONSTRAINT "webhook_deliveries_org_id_fkey";
