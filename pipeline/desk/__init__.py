"""The agents' working day: reports in, cases worked, outcomes recorded.

``importer`` and ``values`` (files of incidents and people), ``intake`` and ``mail`` (the one intake window),
``casework`` (a case's file and what an agent does to it), ``handoff`` (escalating with a package), ``replies``
(reply templates), ``queue`` and ``sla`` (the shared queue and its clocks; ``business_time`` and ``sla_config`` the
desk's calendars, ``sla_raise`` a case raised before its breach), ``people`` (requesters and the team).
"""
