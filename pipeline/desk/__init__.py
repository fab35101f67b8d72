"""The agents' working day: reports in, cases worked, outcomes recorded.

``importer`` and ``values`` (files of incidents and people), ``intake`` and ``mail`` (the one intake window),
``casework`` (a case's file and what an agent does to it), ``handoff`` (escalating with a package), ``replies``
(reply templates), ``queue`` and ``sla`` (the shared queue and its clocks), ``people`` (requesters and the team).
"""
