"""The Kafka consumer service: topics → validated batches → PostgreSQL."""
