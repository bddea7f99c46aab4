-- Message acks move from Baileys' status numbers (ERROR 0, PENDING 1, SERVER_ACK 2, DELIVERY_ACK 3,
-- READ 4, PLAYED 5) to WAHA's scale (ERROR -1, PENDING 0, SERVER 1, DEVICE 2, READ 3, PLAYED 4).
-- A message someone sent us was stored with no status (0): it reached this device.
UPDATE "messages" SET "ack" = CASE WHEN NOT "from_me" THEN 2 WHEN "ack" = 0 THEN 0 ELSE "ack" - 1 END;
