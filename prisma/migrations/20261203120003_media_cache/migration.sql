-- AlterTable
ALTER TABLE "messages" ADD COLUMN     "media" JSONB;

-- CreateTable
CREATE TABLE "media_cache" (
    "org_id" UUID NOT NULL,
    "message_id" UUID NOT NULL,
    "bytes" BYTEA NOT NULL,
    "size" INTEGER NOT NULL,
    "mimetype" TEXT NOT NULL,
    "stored_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_read_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "media_cache_pkey" PRIMARY KEY ("org_id","message_id")
);

-- CreateIndex
CREATE INDEX "media_cache_last_read_at_idx" ON "media_cache"("last_read_at");

-- AddForeignKey
ALTER TABLE "media_cache" ADD CONSTRAINT "media_cache_org_id_message_id_fkey" FOREIGN KEY ("org_id", "message_id") REFERENCES "messages"("org_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;
