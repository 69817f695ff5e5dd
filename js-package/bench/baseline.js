// The benchmark baseline: the cascade as plain JS Map lookups, built from
// the same raw hierarchy as the snapshot. Like the Rust baseline in
// cascade-shared, it skips id validation, so it does less work than the
// evaluator. It also stores object values parsed and returns the same
// object every time, which is cheaper than the evaluator's fresh copies.

export class MapBaseline {
  constructor(hierarchy, revision) {
    const flagKeys = hierarchy.flags.map(([key]) => key);
    this.revision = revision;
    this.keys = [...flagKeys].sort(compareUtf8);
    this.defaults = new Map();
    for (const [key, value] of hierarchy.flags) {
      this.defaults.set(key, value);
    }

    const integrators = hierarchy.integrators.map(() => new Map());
    for (const [scope, flag, value] of hierarchy.integratorOverrides) {
      integrators[scope].set(flagKeys[flag], value);
    }

    this.tenants = new Map();
    const tenants = hierarchy.tenants.map(([id, integrator]) => {
      const tenant = {
        integrator: integrator === null ? null : integrators[integrator],
        overrides: new Map(),
        users: new Map(),
      };
      this.tenants.set(id, tenant);
      return tenant;
    });
    for (const [scope, flag, value] of hierarchy.tenantOverrides) {
      tenants[scope].overrides.set(flagKeys[flag], value);
    }

    const users = hierarchy.users.map(([tenant, id]) => {
      const overrides = new Map();
      tenants[tenant].users.set(id, overrides);
      return overrides;
    });
    for (const [scope, flag, value] of hierarchy.userOverrides) {
      users[scope].set(flagKeys[flag], value);
    }
  }

  /** Returns the result object, or undefined for an unknown flag. */
  evaluate(tenantId, userId, key) {
    if (!this.defaults.has(key)) {
      return undefined;
    }
    const tenant = this.tenants.get(tenantId);
    return this.#decide(tenant, tenant && userId != null ? tenant.users.get(userId) : undefined, key);
  }

  evaluateAll(tenantId, userId) {
    const tenant = this.tenants.get(tenantId);
    const user = tenant && userId != null ? tenant.users.get(userId) : undefined;
    return this.keys.map((key) => this.#decide(tenant, user, key));
  }

  #decide(tenant, user, key) {
    let value = user?.get(key);
    if (value !== undefined) {
      return this.#result(key, value, 'user', 'TARGETING_MATCH');
    }
    if (tenant === undefined) {
      return this.#result(key, this.defaults.get(key), 'platform', 'UNKNOWN_TENANT');
    }
    value = tenant.overrides.get(key);
    if (value !== undefined) {
      return this.#result(key, value, 'tenant', 'TARGETING_MATCH');
    }
    value = tenant.integrator?.get(key);
    if (value !== undefined) {
      return this.#result(key, value, 'integrator', 'TARGETING_MATCH');
    }
    return this.#result(key, this.defaults.get(key), 'platform', 'DEFAULT');
  }

  #result(key, value, level, reason) {
    return { key, value, level, reason, revision: this.revision };
  }
}

// Flag keys are ASCII, so UTF-16 order equals the snapshot's byte order.
function compareUtf8(a, b) {
  if (a < b) {
    return -1;
  }
  return a > b ? 1 : 0;
}
