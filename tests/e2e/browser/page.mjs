// The test page's script, bundled by esbuild: an OpenFeature web client
// with the OFREP web provider reading one flag from the edge worker, and
// the @cascade/evaluator package evaluating a snapshot in the page.
//
// Query parameters: edge (edge worker URL), tenant, user, flag (a boolean
// flag shown on the page), poll (OFREP polling interval in ms).

import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';
import { OpenFeature, ProviderEvents } from '@openfeature/web-sdk';

import { CascadeEvaluator, init } from '../../../js-package/js/web.js';

const params = new URLSearchParams(window.location.search);
const status = document.querySelector('#status');

/** Shows the flag's value and the level that decided it, from OFREP metadata. */
function render(client) {
  const details = client.getBooleanDetails(params.get('flag'), false);
  document.querySelector('#flag-value').textContent = String(details.value);
  document.querySelector('#flag-level').textContent = String(details.flagMetadata?.level ?? '');
  document.querySelector('#flag-reason').textContent = details.reason ?? '';
}

async function startOpenFeature() {
  const provider = new OFREPWebProvider({
    baseUrl: params.get('edge'),
    pollInterval: Number(params.get('poll') ?? 250),
    changeDetection: 'polling',
    cacheMode: 'disabled',
    disableVisibilityRefresh: true,
  });
  await OpenFeature.setContext({ targetingKey: params.get('user'), tenantId: params.get('tenant') });
  await OpenFeature.setProviderAndWait(provider);
  const client = OpenFeature.getClient();
  render(client);
  client.addHandler(ProviderEvents.ConfigurationChanged, () => render(client));
  return client;
}

const getters = {
  boolean: (client, key) => client.getBooleanDetails(key, false),
  string: (client, key) => client.getStringDetails(key, ''),
  integer: (client, key) => client.getNumberDetails(key, 0),
  float: (client, key) => client.getNumberDetails(key, 0),
  object: (client, key) => client.getObjectDetails(key, {}),
};

// Without an edge URL the page only serves evaluateWithPackage.
const clientReady = params.has('edge') ? startOpenFeature() : null;

// The test drives the page through these functions.
window.cascadeTest = {
  /** Resolves each `[key, type]` with the OpenFeature client. */
  async details(flags) {
    const client = await clientReady;
    return flags.map(([key, type]) => {
      const { value, reason, errorCode, flagMetadata } = getters[type](client, key);
      return { key, value, reason, errorCode, flagMetadata };
    });
  },

  /** Evaluates every flag for each `[tenant, user]` with the wasm package. */
  async evaluateWithPackage(snapshotUrl, wasmUrl, subjects) {
    await init(wasmUrl);
    const bytes = new Uint8Array(await (await fetch(snapshotUrl)).arrayBuffer());
    const evaluator = new CascadeEvaluator(bytes);
    try {
      return {
        revision: evaluator.revision,
        results: subjects.map(([tenant, user]) => evaluator.evaluateAll(tenant, user)),
      };
    } finally {
      evaluator.free();
    }
  },
};

if (clientReady) {
  clientReady.then(
    () => {
      status.textContent = 'ready';
    },
    (error) => {
      status.textContent = `error: ${error.message}`;
    },
  );
} else {
  status.textContent = 'not started: no edge parameter';
}
