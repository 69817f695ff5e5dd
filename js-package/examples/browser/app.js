// Fetches a snapshot, loads it into a CascadeEvaluator and lists every
// flag for the tenant and user in the form. Query parameters (?snapshot=,
// ?tenant=, ?user=) fill the form and evaluate at once.

import { init, CascadeEvaluator } from '@cascade/evaluator';

const form = document.querySelector('#context');
const status = document.querySelector('#status');
const errorText = document.querySelector('#error');
const body = document.querySelector('#results tbody');

let evaluator = null;
let loadedFrom = null;

async function loadSnapshot(url) {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`GET ${url} failed with status ${response.status}`);
  }
  const bytes = await response.arrayBuffer();
  if (evaluator && loadedFrom === url) {
    // A newer revision replaces the loaded one; the same revision is a no-op.
    evaluator.load(bytes);
  } else {
    evaluator?.free();
    evaluator = new CascadeEvaluator(bytes);
    loadedFrom = url;
  }
}

function showResults(results) {
  body.replaceChildren(
    ...results.map((result) => {
      const row = document.createElement('tr');
      for (const text of [result.key, result.type, JSON.stringify(result.value), result.level, result.reason]) {
        const cell = document.createElement('td');
        cell.textContent = text;
        row.append(cell);
      }
      return row;
    }),
  );
}

async function evaluate() {
  const data = new FormData(form);
  errorText.textContent = '';
  try {
    await loadSnapshot(data.get('snapshot'));
    const user = data.get('user') || null;
    showResults(evaluator.evaluateAll(data.get('tenant'), user));
    status.textContent = `revision ${evaluator.revision}: ${evaluator.flagKeys.length} flags`;
  } catch (error) {
    body.replaceChildren();
    errorText.textContent = error.code ? `${error.code}: ${error.message}` : String(error);
  }
  document.body.dataset.state = 'done';
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  evaluate();
});

await init();
const query = new URLSearchParams(location.search);
for (const name of ['snapshot', 'tenant', 'user']) {
  if (query.has(name)) {
    form.elements[name].value = query.get(name);
  }
}
if (query.has('tenant')) {
  evaluate();
}
