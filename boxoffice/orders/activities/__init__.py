"""The PurchaseWorkflow's outside effects, one module per outside system: inventory (seats in
PostgreSQL), payments and refunds (Stripe), tickets (signed codes), documents (the PDF in S3),
email (SMTP)."""
