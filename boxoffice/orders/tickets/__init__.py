"""What a ticket is on paper and at the door: its signed code and the PDF of an order's tickets."""
