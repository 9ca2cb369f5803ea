import { describe, expect, it } from 'vitest';
import { en } from '../src/i18n/en';
import { vi } from '../src/i18n/vi';
import { fmtDate, t, today } from '../src/i18n';
import { problemText, reasonText } from '../src/errors';
import { fold, isExactNumber, presetVolume } from '../src/util';

describe('the catalogues', () => {
  it('have exactly the same keys', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(vi).sort());
  });

  it('have no empty text', () => {
    for (const [lang, cat] of Object.entries({ vi, en })) {
      for (const [k, v] of Object.entries(cat)) expect(v.trim(), `${lang}:${k}`).not.toBe('');
    }
  });

  it('use the same placeholders in both languages', () => {
    const holes = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort().join(',');
    for (const k of Object.keys(vi) as Array<keyof typeof vi>) expect(holes(en[k]), k).toBe(holes(vi[k]));
  });
});

describe('formatting', () => {
  it('writes dates as dd/mm/yyyy in vi-VN', () => {
    expect(fmtDate('2027-01-05', 'vi')).toBe('05/01/2027');
  });

  it("takes today's date in Viet Nam's zone", () => {
    expect(today(new Date('2026-11-30T18:30:00Z'))).toBe('2026-12-01');
  });

  it('fills placeholders', () => {
    expect(t('queue.attempts', { n: 3 }, 'en')).toBe('3 attempts');
  });
});

describe('server codes in words', () => {
  it('says a known reason in the language and shows an unknown one as its code', () => {
    expect(reasonText('weight_required')).toBe(vi['reason.weight_required']);
    expect(reasonText('moon_phase')).toContain('moon_phase');
  });

  it('says why and until when a donor was refused', () => {
    const s = problemText({ code: 'donor_not_eligible', reason: 'interval', next_eligible_on: '2027-02-22' });
    expect(s).toContain(vi['reason.interval']);
    expect(s).toContain('22/02/2027');
  });

  it('names the fields of a validation error', () => {
    const s = problemText({ code: 'invalid_request', errors: [{ field: 'weight_kg', code: 'required' }] });
    expect(s).toContain(vi['field.weight_kg']);
    expect(s).toContain(vi['field.code.required']);
  });
});

describe('helpers', () => {
  it('folds Vietnamese diacritics', () => {
    expect(fold('Giàng Thị  Đúng')).toBe('giang thi dung');
  });

  it('presets the largest allowed bag', () => {
    expect(presetVolume('whole_blood', 405)).toBe(350);
    expect(presetVolume('whole_blood', 500)).toBe(450);
    expect(presetVolume('whole_blood', 250)).toBe(250);
    expect(presetVolume('plasma', 650)).toBe(650);
  });
});

describe('the donor search box', () => {
  it('treats a CCCD or a phone as an exact look-up and anything else as a name', () => {
    for (const q of ['012345678901', '0912345678', '0912 345 678', '+84912345678', '84912345678']) {
      expect(isExactNumber(q), q).toBe(true);
    }
    for (const q of ['giang thi dung', '0123', '01234567890', '0912345678901', 'an 0912345678']) {
      expect(isExactNumber(q), q).toBe(false);
    }
  });
});
