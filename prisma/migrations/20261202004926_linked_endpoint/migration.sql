-- AlterTable
ALTER TABLE "whatsapp_sessions" ADD COLUMN     "linked_endpoint" TEXT;
