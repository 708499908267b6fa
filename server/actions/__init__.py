"""Domain actions: validate, write in one transaction, and build the events to push."""
