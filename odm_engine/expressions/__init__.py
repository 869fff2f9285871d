"""OEL, the ODM Expression Language: conditions, edit checks and derivations.

Pipeline: ``parse`` (text -> syntax tree) -> ``Checker`` (resolve OIDs, type-check -> typed
tree) -> ``compile_node`` (typed tree -> closure). ``compile_study`` runs it for every
RangeCheck, ConditionDef and MethodDef of a MetaDataVersion; see docs/expressions.md.
"""

from odm_engine.expressions.compiler import CompileResult
from odm_engine.expressions.parser import SyntaxProblem, parse
from odm_engine.expressions.plan import Bound, CheckPlan, FormPlan, GroupPlan, ItemPlan, RangeRule
from odm_engine.expressions.printer import to_text
from odm_engine.expressions.study import compile_study

__all__ = [
    "Bound",
    "CheckPlan",
    "CompileResult",
    "FormPlan",
    "GroupPlan",
    "ItemPlan",
    "RangeRule",
    "SyntaxProblem",
    "compile_study",
    "parse",
    "to_text",
]
