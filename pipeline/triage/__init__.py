"""The assistant: what it knows of past cases and what it suggests for a new one, for agents and leads alike.

``embed`` and ``embed_cache`` (texts to vectors), ``reports`` (what the models see of incidents), ``indexing`` and
``search`` (the similar-case index and search over it), ``classify`` and ``stacker`` (the suggestion model),
``targets`` (what is learned and suggested), ``suggest`` (one report's suggestions, the ITIL matrix and the
escalation checklist), ``thresholds`` (when it may suggest), ``training`` and ``versions`` (a version trained,
measured, kept, compared), ``figures`` (held-out quality figures) and ``evaluate`` (the public yardsticks).
Nothing here knows the desk, the review or the workspace that composes it.
"""
