"""The IAM policy language: documents, conditions and evaluation. Pure: no I/O."""

from .conditions import Condition, Context, wildcard_match
from .document import MalformedPolicy, PolicyDocument, Principal, Statement, parse_policy
from .evaluate import Decision, Evaluation, Request, evaluate

__all__ = [
    "Condition",
    "Context",
    "Decision",
    "Evaluation",
    "MalformedPolicy",
    "PolicyDocument",
    "Principal",
    "Request",
    "Statement",
    "evaluate",
    "parse_policy",
    "wildcard_match",
]
