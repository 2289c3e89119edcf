"""The authorities' exchange service: notifications, responses, incidents, audit chain."""
