// A small browser stand-in for page tests: keeps cookies, does not follow redirects on its own, and
// reads the CSRF token out of the last page's forms.
export interface PageResponse {
  status: number;
  location: string | null;
  headers: Headers;
  text: string;
}

export class PageClient {
  private readonly cookies = new Map<string, string>();
  csrf = '';

  constructor(private readonly baseUrl: string) {}

  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  private remember(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, at).trim(), pair!.slice(at + 1).trim());
    }
  }

  async request(method: string, path: string, form?: Record<string, string>): Promise<PageResponse> {
    const url = path.startsWith('http') ? path : `${this.baseUrl}${path}`;
    const headers: Record<string, string> = { cookie: this.cookieHeader() };
    let body: string | undefined;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const response = await fetch(url, { method, headers, body, redirect: 'manual' });
    this.remember(response);
    const text = await response.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(text);
    if (token) this.csrf = token[1]!;
    return { status: response.status, location: response.headers.get('location'), headers: response.headers, text };
  }

  get(path: string): Promise<PageResponse> {
    return this.request('GET', path);
  }

  /** Posts a form with the CSRF token of the last page (unless the form gives its own `_csrf`). */
  post(path: string, form: Record<string, string> = {}): Promise<PageResponse> {
    return this.request('POST', path, { _csrf: this.csrf, ...form });
  }

  /** Signs in with the development sign-in. */
  async signIn(personalNumber: string): Promise<PageResponse> {
    await this.get('/inbox/logga-in');
    return this.post('/inbox/logga-in', { personalNumber });
  }
}
