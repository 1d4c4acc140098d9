"""Matching engine service (Fargate): SQS FIFO in, DynamoDB transaction + EventBridge out."""
