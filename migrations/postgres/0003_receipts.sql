-- Delivery receipts look our replies up by the id the network gave them.
CREATE INDEX messages_network_item_id ON messages (network_item_id);
