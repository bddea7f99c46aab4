-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "SessionStatus" AS ENUM ('stopped', 'starting', 'qr', 'connected', 'disconnected', 'logged_out');

-- CreateEnum
CREATE TYPE "OutboxKind" AS ENUM ('send', 'revoke');

-- CreateEnum
CREATE TYPE "OutboxStatus" AS ENUM ('pending', 'sent', 'failed', 'expired');

-- CreateEnum
CREATE TYPE "DeliveryStatus" AS ENUM ('pending', 'delivered', 'failed', 'exhausted');

-- CreateTable
CREATE TABLE "organizations" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "organizations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "secret_hash" TEXT NOT NULL,
    "capabilities" TEXT[],
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMP(3),
    "expires_at" TIMESTAMP(3),
    "revoked_at" TIMESTAMP(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "whatsapp_sessions" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "created_by" TEXT NOT NULL,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "should_run" BOOLEAN NOT NULL DEFAULT false,
    "status" "SessionStatus" NOT NULL DEFAULT 'stopped',
    "me_jid" TEXT,
    "me_push_name" TEXT,
    "owner_worker_id" TEXT,
    "owner_epoch" BIGINT NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "last_connected_at" TIMESTAMP(3),
    "last_disconnected_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "whatsapp_sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "auth_creds" (
    "session_id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "creds" JSONB NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "auth_creds_pkey" PRIMARY KEY ("session_id")
);

-- CreateTable
CREATE TABLE "auth_keys" (
    "session_id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "key_id" TEXT NOT NULL,
    "value" JSONB NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "auth_keys_pkey" PRIMARY KEY ("session_id","type","key_id")
);

-- CreateTable
CREATE TABLE "messages" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "session_id" UUID NOT NULL,
    "wa_message_id" TEXT NOT NULL,
    "chat_jid" TEXT NOT NULL,
    "sender_jid" TEXT,
    "from_me" BOOLEAN NOT NULL,
    "message_type" TEXT NOT NULL,
    "text" TEXT,
    "timestamp" BIGINT NOT NULL,
    "ack" INTEGER NOT NULL DEFAULT 0,
    "raw" JSONB NOT NULL,
    "revoked_at" TIMESTAMP(3),
    "revoked_by" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "messages_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outbox_operations" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "session_id" UUID NOT NULL,
    "kind" "OutboxKind" NOT NULL,
    "idempotency_key" TEXT,
    "request_hash" TEXT NOT NULL,
    "request" JSONB NOT NULL,
    "status" "OutboxStatus" NOT NULL DEFAULT 'pending',
    "result" JSONB,
    "error" JSONB,
    "wa_message_id" TEXT,
    "deadline" TIMESTAMP(3) NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,
    "completed_at" TIMESTAMP(3),

    CONSTRAINT "outbox_operations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "domain_events" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "session_id" UUID,
    "type" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMP(3),

    CONSTRAINT "domain_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_endpoints" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "url" TEXT NOT NULL,
    "description" TEXT,
    "events" TEXT[],
    "session_ids" TEXT[],
    "secret_ciphertext" TEXT NOT NULL,
    "previous_secret_ciphertext" TEXT,
    "previous_secret_expires_at" TIMESTAMP(3),
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "disabled_reason" TEXT,
    "failing_since" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "webhook_endpoints_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_deliveries" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "endpoint_id" UUID NOT NULL,
    "event_id" UUID NOT NULL,
    "status" "DeliveryStatus" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMP(3),
    "last_status_code" INTEGER,
    "last_latency_ms" INTEGER,
    "last_error" TEXT,
    "delivered_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_log" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "actor_kind" TEXT NOT NULL,
    "actor_id" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target_type" TEXT NOT NULL,
    "target_id" TEXT,
    "details" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_prefix_key" ON "api_keys"("prefix");

-- CreateIndex
CREATE INDEX "api_keys_org_id_created_at_idx" ON "api_keys"("org_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_org_id_id_key" ON "api_keys"("org_id", "id");

-- CreateIndex
CREATE INDEX "whatsapp_sessions_org_id_created_at_id_idx" ON "whatsapp_sessions"("org_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "whatsapp_sessions_should_run_owner_worker_id_idx" ON "whatsapp_sessions"("should_run", "owner_worker_id");

-- CreateIndex
CREATE UNIQUE INDEX "whatsapp_sessions_org_id_id_key" ON "whatsapp_sessions"("org_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "whatsapp_sessions_org_id_name_key" ON "whatsapp_sessions"("org_id", "name");

-- CreateIndex
CREATE UNIQUE INDEX "auth_creds_org_id_session_id_key" ON "auth_creds"("org_id", "session_id");

-- CreateIndex
CREATE INDEX "auth_keys_org_id_session_id_idx" ON "auth_keys"("org_id", "session_id");

-- CreateIndex
CREATE INDEX "messages_org_id_session_id_wa_message_id_idx" ON "messages"("org_id", "session_id", "wa_message_id");

-- CreateIndex
CREATE INDEX "messages_org_id_session_id_chat_jid_timestamp_idx" ON "messages"("org_id", "session_id", "chat_jid", "timestamp");

-- CreateIndex
CREATE UNIQUE INDEX "messages_org_id_id_key" ON "messages"("org_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "messages_session_id_chat_jid_wa_message_id_key" ON "messages"("session_id", "chat_jid", "wa_message_id");

-- CreateIndex
CREATE INDEX "outbox_operations_status_deadline_idx" ON "outbox_operations"("status", "deadline");

-- CreateIndex
CREATE UNIQUE INDEX "outbox_operations_org_id_id_key" ON "outbox_operations"("org_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "outbox_operations_org_id_idempotency_key_key" ON "outbox_operations"("org_id", "idempotency_key");

-- CreateIndex
CREATE INDEX "domain_events_published_at_created_at_idx" ON "domain_events"("published_at", "created_at");

-- CreateIndex
CREATE INDEX "domain_events_org_id_type_created_at_idx" ON "domain_events"("org_id", "type", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "domain_events_org_id_id_key" ON "domain_events"("org_id", "id");

-- CreateIndex
CREATE INDEX "webhook_endpoints_org_id_enabled_idx" ON "webhook_endpoints"("org_id", "enabled");

-- CreateIndex
CREATE UNIQUE INDEX "webhook_endpoints_org_id_id_key" ON "webhook_endpoints"("org_id", "id");

-- CreateIndex
CREATE INDEX "webhook_deliveries_status_next_attempt_at_idx" ON "webhook_deliveries"("status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "webhook_deliveries_org_id_endpoint_id_created_at_idx" ON "webhook_deliveries"("org_id", "endpoint_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "webhook_deliveries_org_id_id_key" ON "webhook_deliveries"("org_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "webhook_deliveries_endpoint_id_event_id_key" ON "webhook_deliveries"("endpoint_id", "event_id");

-- CreateIndex
CREATE INDEX "audit_log_org_id_created_at_id_idx" ON "audit_log"("org_id", "created_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "audit_log_org_id_id_key" ON "audit_log"("org_id", "id");

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "whatsapp_sessions" ADD CONSTRAINT "whatsapp_sessions_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "auth_creds" ADD CONSTRAINT "auth_creds_org_id_session_id_fkey" FOREIGN KEY ("org_id", "session_id") REFERENCES "whatsapp_sessions"("org_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "auth_keys" ADD CONSTRAINT "auth_keys_org_id_session_id_fkey" FOREIGN KEY ("org_id", "session_id") REFERENCES "whatsapp_sessions"("org_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "messages" ADD CONSTRAINT "messages_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "messages" ADD CONSTRAINT "messages_org_id_session_id_fkey" FOREIGN KEY ("org_id", "session_id") REFERENCES "whatsapp_sessions"("org_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "outbox_operations" ADD CONSTRAINT "outbox_operations_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "outbox_operations" ADD CONSTRAINT "outbox_operations_org_id_session_id_fkey" FOREIGN KEY ("org_id", "session_id") REFERENCES "whatsapp_sessions"("org_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "domain_events" ADD CONSTRAINT "domain_events_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_endpoints" ADD CONSTRAINT "webhook_endpoints_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_org_id_endpoint_id_fkey" FOREIGN KEY ("org_id", "endpoint_id") REFERENCES "webhook_endpoints"("org_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_org_id_event_id_fkey" FOREIGN KEY ("org_id", "event_id") REFERENCES "domain_events"("org_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
