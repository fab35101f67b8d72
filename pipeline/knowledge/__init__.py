"""What the desk learns beyond single cases: problem records and known errors, knowledge articles, and escalation
drills that teach agents the criteria. It builds on triage (embeddings, search) and the desk's records; the review
reads it, and the channels tell people what it changed (from the event log)."""
