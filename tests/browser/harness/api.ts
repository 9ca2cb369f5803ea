// A small client of the real HTTP API (docs: /work/shared/spec/api.md), used to seed data and to
// check from the server's side what the app claims to have done.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    what: string,
  ) {
    super(`${what} → ${status}: ${JSON.stringify(body)}`);
  }
}

export class Api {
  constructor(
    readonly baseURL: string,
    readonly token?: string,
  ) {}

  static async signIn(baseURL: string, username: string, password: string): Promise<Api> {
    const res = await fetch(`${baseURL}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    const body = (await res.json()) as { access_token?: string };
    if (!res.ok || !body.access_token) throw new ApiError(res.status, body, `sign-in of ${username}`);
    return new Api(baseURL, body.access_token);
  }

  async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const res = await this.raw(method, path, body, headers);
    const text = await res.text();
    const parsed: unknown = text ? JSON.parse(text) : null;
    if (!res.ok) throw new ApiError(res.status, parsed, `${method} ${path}`);
    return parsed as T;
  }

  raw(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${this.baseURL}/api/v1${path}`, {
      method,
      headers: {
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }
}

export interface Donor {
  id: string;
  full_name: string;
  date_of_birth: string;
  sex: 'male' | 'female';
  national_id: string | null;
  phone?: string | null;
  blood_group: string | null;
  weight_kg: number | null;
  next_eligible_on: string | null;
}

export interface Tally {
  drive_id: string;
  units: number;
  deferrals: number;
  target_units: number | null;
  by_blood_group: Record<string, number>;
}

export interface Donation {
  id: string;
  donor_id: string;
  event_id: string;
  outcome: string;
  volume_ml: number;
  unit_code: string | null;
  voided: boolean;
}

export interface DeferralReason {
  code: string;
  label_vi: string;
  label_en: string;
  min_days: number | null;
}
