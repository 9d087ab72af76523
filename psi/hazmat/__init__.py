"""The primitives under psi's recipes: ristretto255 group operations, the RFC 9497
protocol steps one at a time, batched steps on the worker pool, and Merkle node hashing.

Like ``cryptography.hazmat``, these are sharp: each is correct only when composed as
the recipes in ``psi`` compose them (a batch blinded here and finalized with another
key's proof verifies nothing). Use ``psi.prepare_query``, ``psi.IndexStore`` and
``psi.verify_evaluation`` unless you are writing a benchmark, a test vector check or a
new recipe.
"""

from psi._group import (
    ELEMENT_BYTES,
    GENERATOR,
    GROUP_ORDER,
    IDENTITY,
    SCALAR_BYTES,
    add,
    deserialize_element,
    deserialize_scalar,
    expand_message_xmd,
    hash_to_group,
    hash_to_scalar,
    random_scalar,
    scalar_inverse,
    scalar_mul,
    scalar_mult,
    scalar_mult_base,
    scalar_sub,
)
from psi._merkle import node_hash
from psi._oprf import (
    PROOF_BYTES,
    Mode,
    Suite,
    blind,
    blind_evaluate,
    blind_with,
    evaluate,
    finalize,
    suite,
)
from psi._parallel import blind_batch, evaluate_batch, finalize_batch

__all__ = [
    "ELEMENT_BYTES",
    "GENERATOR",
    "GROUP_ORDER",
    "IDENTITY",
    "PROOF_BYTES",
    "SCALAR_BYTES",
    "Mode",
    "Suite",
    "add",
    "blind",
    "blind_batch",
    "blind_evaluate",
    "blind_with",
    "deserialize_element",
    "deserialize_scalar",
    "evaluate",
    "evaluate_batch",
    "expand_message_xmd",
    "finalize",
    "finalize_batch",
    "hash_to_group",
    "hash_to_scalar",
    "node_hash",
    "random_scalar",
    "scalar_inverse",
    "scalar_mul",
    "scalar_mult",
    "scalar_mult_base",
    "scalar_sub",
    "suite",
]
