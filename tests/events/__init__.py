"""Event fixtures shared by every tier: the EventBridge payloads a handler receives."""
