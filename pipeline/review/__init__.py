"""The look back, for leads and analysts: how the suggestions fared, how escalations went, what the knowledge base
lacks, and the trends.

``suggestion_quality``, ``escalation_review``, ``kb_health``, ``analysis`` (the knowledge base as DataFrames and the
usual questions asked of them), ``problems`` (recurring problems) and ``eventlog`` (a ServiceNow event log read into
the same shape).
"""
