// A small client for the control plane's admin API: JSON requests with a
// bearer token, and RFC 9457 problem documents turned into errors that
// name the request, the status and the service's own detail.

/** A request the admin API rejected or failed, with its problem document. */
export class AdminApiError extends Error {
  constructor(method, path, status, problem) {
    const detail = problem?.detail ?? '(no problem document)';
    super(`${method} ${path} returned ${status}: ${detail}`);
    this.name = 'AdminApiError';
    this.status = status;
    this.problem = problem;
  }
}

export class AdminClient {
  /**
   * @param {string} baseUrl  control plane URL, such as http://127.0.0.1:8080
   * @param {string} token    bearer token of an admin
   */
  constructor(baseUrl, token) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.token = token;
  }

  /**
   * Sends one request and returns the parsed JSON body, or null for an
   * empty body. Throws AdminApiError for any status of 400 or above.
   */
  async request(method, path, body, headers = {}) {
    const init = {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...headers },
    };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(`${this.baseUrl}${path}`, init);
    const text = await response.text();
    const parsed = text === '' ? null : parseJson(text);
    if (response.status >= 400) {
      throw new AdminApiError(method, path, response.status, parsed);
    }
    return parsed;
  }

  get(path) {
    return this.request('GET', path);
  }

  post(path, body) {
    return this.request('POST', path, body);
  }

  put(path, body) {
    return this.request('PUT', path, body);
  }

  patch(path, body) {
    return this.request('PATCH', path, body);
  }

  delete(path) {
    return this.request('DELETE', path);
  }
}

/** Percent-encodes one path segment, such as a user id. */
export function segment(text) {
  return encodeURIComponent(text);
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.slice(0, 200) };
  }
}
