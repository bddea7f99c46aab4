-- DropIndex
DROP INDEX "messages_session_id_chat_jid_wa_message_id_key";

-- CreateIndex
CREATE UNIQUE INDEX "messages_org_id_session_id_chat_jid_wa_message_id_key" ON "messages"("org_id", "session_id", "chat_jid", "wa_message_id");
