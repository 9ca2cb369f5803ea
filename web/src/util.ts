/** A list endpoint's items, whether it answers an array or `{items}`. */
export function listOf<T>(x: unknown): T[] {
  if (Array.isArray(x)) return x as T[];
  const items = (x as { items?: unknown } | null)?.items;
  return Array.isArray(items) ? (items as T[]) : [];
}

/** Lower case without Vietnamese diacritics, for matching names typed without them. */
export function fold(s: string): string {
  return s
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/đ/g, 'd')
    .replace(/Đ/g, 'D')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

export function uuid(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // crypto.randomUUID needs a secure context; plain-HTTP LAN use still needs ids.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const BLOOD_GROUPS = ['O+', 'O-', 'A+', 'A-', 'B+', 'B-', 'AB+', 'AB-'] as const;
export const COMPONENTS = ['whole_blood', 'red_cells', 'platelets', 'plasma'] as const;
const BAGS = [250, 350, 450];

/** The volume to preset: the largest standard bag allowed for whole blood, the cap for apheresis. */
export function presetVolume(component: string, max: number | null | undefined): number {
  if (component === 'whole_blood') {
    if (!max) return 350;
    const fits = BAGS.filter((b) => b <= max);
    return fits.length ? (fits[fits.length - 1] ?? 250) : 250;
  }
  return max && max > 0 ? max : 500;
}

/** A 12-digit CCCD or a Vietnamese phone number in one of its written forms. */
export function isExactNumber(q: string): boolean {
  const digits = q.replace(/[\s.\-()]/g, '');
  return /^\d{12}$/.test(digits) || /^(\+?84|0)\d{9}$/.test(digits);
}
