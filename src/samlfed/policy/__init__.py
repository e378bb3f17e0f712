"""The IAM policy language: documents, conditions and evaluation. Pure: no I/O."""

from .conditions import Condition, Context, wildcard_match
from .document import MalformedPolicy, PolicyDocument, Principal, Statement, parse_policy
from .evaluate import Authorization, Decision, Evaluation, NamedPolicy, PolicySet, Request, authorize, evaluate

__all__ = [
    "Authorization",
    "NamedPolicy",
    "PolicySet",
    "authorize",
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
