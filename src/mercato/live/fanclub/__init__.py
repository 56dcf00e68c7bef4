"""Fan Club: a creator's fans, their points and levels, badges in the room (docs/community.md)."""
