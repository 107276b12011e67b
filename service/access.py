"""Access decisions against the registry: which cubes a caller may read or write, and defaults."""

from __future__ import annotations

from pipeline.access import Caller, Role, check_access
from pipeline.errors import Invalid
from pipeline.ids import is_cube_id, private_cube_id
from storage.registry import Cube, Registry


class Access:
    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def own_cube(self, caller: Caller) -> Cube:
        return self._registry.ensure_private(private_cube_id(caller.agent), caller.agent)

    def require(self, caller: Caller, cube_id: str | None, need: Role) -> Cube:
        """The cube if the caller holds `need` on it; None means the caller's own cube."""
        if cube_id is None:
            return self.own_cube(caller)
        if not is_cube_id(cube_id):
            raise Invalid(f"cube id {cube_id[:80]!r} is not a valid cube id")
        if cube_id == private_cube_id(caller.agent):
            return self.own_cube(caller)
        check_access(cube_id, self._registry.role(cube_id, caller.agent), need)
        cube = self._registry.get(cube_id)
        assert cube is not None
        return cube

    def search_cubes(self, caller: Caller, named: list[str] | None) -> list[Cube]:
        """The named cubes (each must be readable), or by default the caller's own plus its mounts."""
        if named:
            return [self.require(caller, cube_id, Role.READ) for cube_id in dict.fromkeys(named)]
        cubes = [self.own_cube(caller)]
        for cube_id in self._registry.mounts(caller.agent):
            if self._registry.role(cube_id, caller.agent) is not None:  # a revoked mount reads nothing
                cube = self._registry.get(cube_id)
                if cube is not None:
                    cubes.append(cube)
        return cubes

    def lookup_order(self, caller: Caller) -> list[Cube]:
        """Where a memory named only by id is looked for: own cube, mounts, then other memberships."""
        seen = {c.id: c for c in self.search_cubes(caller, None)}
        for cube, _ in self._registry.cubes_of(caller.agent):
            seen.setdefault(cube.id, cube)
        return list(seen.values())
