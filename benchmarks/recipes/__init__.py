"""Reproduce the reference studies: `python -m benchmarks.run --recipe NAME [--variant V] [--smoke]`.

Modules: `base` (Recipe, Variant, Group, Row: what a recipe is and how it becomes RunConfigs), `catalog`
(`RECIPES`, one per study, with every deviation stated), `published` (the studies' published cells and
settings, checked against their texts), `reproduce` (the producer: runs the groups, writes the recipe
folder and reproduction.csv). The report's `reproduction` section renders the table.
"""

from __future__ import annotations

from benchmarks.recipes.catalog import RECIPES
from benchmarks.recipes.published import cells
from features.errors import ConfigError

__all__ = ["RECIPES", "get_recipe", "listing", "recipe_names"]


def recipe_names() -> list[str]:
    return list(RECIPES)


def get_recipe(name: str):
    """The Recipe `name`; ConfigError naming the valid ones otherwise."""
    if name not in RECIPES:
        raise ConfigError(f"recipe {name!r} is unknown; choose one of {', '.join(RECIPES)} (or list)")
    return RECIPES[name]


def listing() -> str:
    """`--recipe list`: one block per recipe: name, study, dataset, variants, groups and published cells."""
    out = []
    for r in RECIPES.values():
        try:
            n = len(cells(r.study))
        except KeyError:
            n = 0
        out.append(f"{r.name}\n  {r.what}\n  dataset {r.dataset}; variants {', '.join(v.name for v in r.variants)}; "
                   f"runs {', '.join(g.name for g in r.groups)}; {len(r.rows)} rows answered, {n} published cells")
    return "\n".join(out) + "\n"
