"""What the assistant learns and suggests: one home for every module, command and page that lists the targets."""

from __future__ import annotations

# Learned from the resolved incidents, one model each; impact and urgency feed the priority matrix.
TARGETS = ("category", "priority", "escalation_level", "impact", "urgency")
# Suggested to the agent: stored at intake, accepted, overridden or chosen on the case, reviewed by the leads.
SUGGESTED = ("category", "priority", "escalation_level")
