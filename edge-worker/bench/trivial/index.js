// The benchmark baseline: a worker that returns one constant JSON body, so
// that the cost of workerd, wrangler dev and wrk is measured without any
// evaluation.
const BODY = JSON.stringify({ key: "beta", value: true });

export default {
  fetch() {
    return new Response(BODY, { headers: { "content-type": "application/json" } });
  },
};
