import * as fc from 'fast-check';
import { fitName, isLabelValue, VersionKey } from '../src/version-key';

const OCI_TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DIGEST = `sha256:${'ab12'.repeat(16)}`;
const validTag = fc.stringMatching(OCI_TAG);

describe('image references', () => {
  test('a tag is appended verbatim after ":"', () => {
    expect(VersionKey.of('v1.2286938253.0').imageFor('registry.example.com/myapp'))
      .toBe('registry.example.com/myapp:v1.2286938253.0');
    expect(VersionKey.of('Release_2024.01').imageFor('reg:5000/app')).toBe('reg:5000/app:Release_2024.01');
  });

  test('a digest becomes repo@sha256:…, with or without a leading "@"', () => {
    expect(VersionKey.of(DIGEST).imageFor('r/app')).toBe(`r/app@${DIGEST}`);
    expect(VersionKey.of(`@${DIGEST}`).imageFor('r/app')).toBe(`r/app@${DIGEST}`);
    expect(VersionKey.of(DIGEST).isDigest).toBe(true);
  });
});

describe('names', () => {
  test('a tag that is already a label fragment is used as is', () => {
    expect(VersionKey.of('abc123').nameWithPrefix('myapp-migrate')).toBe('myapp-migrate-abc123');
    expect(VersionKey.of('1-2-3').nameWithPrefix('x')).toBe('x-1-2-3');
  });

  test('a tag with dots is sanitized and gets a hash of the full tag', () => {
    const name = VersionKey.of('v1.2.3').nameWithPrefix('myapp-migrate');
    expect(name).toMatch(/^myapp-migrate-v1-2-3-[a-f0-9]{10}$/);
    expect(name.endsWith(VersionKey.hash('v1.2.3'))).toBe(true);
  });

  test('tags that sanitize alike still get different names', () => {
    const names = ['v1.2', 'v1-2', 'V1.2', 'v1_2', 'v1__2'].map(t => VersionKey.of(t).nameWithPrefix('app-migrate'));
    expect(new Set(names).size).toBe(names.length);
  });

  test('a 128-character tag is cut to 63 and ends in its hash', () => {
    const tag = 'a'.repeat(64) + 'B'.repeat(64);
    const name = VersionKey.of(tag).nameWithPrefix('myapp-migrate');
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(DNS_LABEL);
    expect(name.endsWith(`-${VersionKey.hash(tag)}`)).toBe(true);
  });

  test('a long lowercase tag that is a valid fragment is still cut when the name would pass 63', () => {
    const tag = 'a'.repeat(60);
    const name = VersionKey.of(tag).nameWithPrefix('myapp-migrate');
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name.endsWith(VersionKey.hash(tag))).toBe(true);
  });

  test('a digest gives a valid, cut name', () => {
    const name = VersionKey.of(DIGEST).nameWithPrefix('myapp-migrate');
    expect(name).toMatch(DNS_LABEL);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name.startsWith('myapp-migrate-sha256-ab12')).toBe(true);
  });

  test('GIVEN a prefix that leaves room for exactly one tag character WHEN cut THEN that character stays readable; one more and the prefix is cut and hashed with the tag', () => {
    const prefix50 = 'a'.repeat(41) + '-migrate'.padEnd(9, 'x'); // 50 characters: 63 - 50 - 12 = 1 character of room
    expect(prefix50).toHaveLength(50);
    expect(VersionKey.of('v1.2.3').nameWithPrefix(prefix50)).toBe(`${prefix50}-v-${VersionKey.hash('v1.2.3')}`);
    const prefix51 = `${prefix50}y`;
    expect(VersionKey.of('v1.2.3').nameWithPrefix(prefix51)).toBe(`${prefix51}-${VersionKey.hash(`${prefix51}\nv1.2.3`)}`);
  });

  test('GIVEN a long service name and a short tag that is no DNS label WHEN named THEN the name is still a DNS label', () => {
    // Found by mutation testing: with no room for the tag, the verbatim name was returned whenever it fit.
    const prefix = `${'a'.repeat(45)}-migrate`;
    for (const tag of ['V1', 'v_1', 'v1.2']) {
      const name = VersionKey.of(tag).nameWithPrefix(prefix);
      expect(name).toMatch(DNS_LABEL);
      expect(name).toBe(`${prefix.slice(0, 52)}-${VersionKey.hash(`${prefix}\n${tag}`)}`);
    }
  });

  test('a tag of only separators still yields a name (hash only)', () => {
    expect(VersionKey.of('___').nameWithPrefix('app-migrate')).toBe(`app-migrate-${VersionKey.hash('___')}`);
  });

  test('label values: verbatim when valid, sanitized with a hash otherwise', () => {
    expect(VersionKey.of('v1.2.3').labelValue).toBe('v1.2.3');
    expect(VersionKey.of('_v1').labelValue).toMatch(/^v1-[a-f0-9]{10}$/);
    expect(VersionKey.of(DIGEST).labelValue).toMatch(LABEL_VALUE);
    expect(VersionKey.of(DIGEST).labelValue.length).toBeLessThanOrEqual(63);
  });
});

describe('invalid tags fail naming imageTag, the value, and what is allowed', () => {
  test.each([
    ['', /Invalid imageTag "": it is empty/],
    ['-v1', /Invalid imageTag "-v1": it starts with "-"; an OCI tag is 1-128 characters/],
    ['.v1', /starts with "\."/],
    ['v1 2', /it contains " "/],
    ['v1+build', /it contains "\+"/],
    ['a'.repeat(129), /it is 129 characters long/],
    ['myapp:v1', /looks like a whole image reference; pass only the tag/],
    ['registry/app@sha256:abc', /looks like a whole image reference/],
    ['sha256:abc', /looks like a digest but is not "sha256:" followed by 64/],
    [`sha256:${'A'.repeat(64)}`, /looks like a digest/],
  ])('%j', (tag, message) => {
    expect(() => VersionKey.of(tag)).toThrow(message);
  });

  test('undefined is reported as empty', () => {
    expect(() => VersionKey.of(undefined as unknown as string)).toThrow(/Invalid imageTag \(undefined\): it is empty/);
  });
});

describe('properties', () => {
  test('for any valid tag, the Job name is a DNS-1123 label of at most 63 characters, and stable', () => {
    fc.assert(fc.property(validTag, tag => {
      const a = VersionKey.of(tag).nameWithPrefix('myservice-with-a-long-name-migrate');
      const b = VersionKey.of(tag).nameWithPrefix('myservice-with-a-long-name-migrate');
      return a === b && a.length <= 63 && DNS_LABEL.test(a);
    }), { numRuns: 2000 });
  });

  test('for any service name (a DNS-1035 label) and any valid tag, the Job names are DNS-1123 labels of at most 63 characters', () => {
    // Every length from 1 to 63 equally often: the cut-off lengths are what matters.
    const serviceName = fc.integer({ min: 1, max: 63 }).chain(n => fc.array(fc.constantFrom(...'ab09-'), { minLength: n, maxLength: n })
      .map(chars => chars.join('').replace(/^[^a-z]/, 'a').replace(/[^a-z0-9]$/, 'z')));
    fc.assert(fc.property(serviceName, validTag, (name, tag) => {
      return [`${name}-migrate`, `${name}-post`].every(prefix => {
        const job = VersionKey.of(tag).nameWithPrefix(prefix);
        return job.length <= 63 && DNS_LABEL.test(job);
      });
    }), { numRuns: 2000 });
  });

  test('distinct tags give distinct names', () => {
    fc.assert(fc.property(validTag, validTag, (t1, t2) => {
      fc.pre(t1 !== t2);
      return VersionKey.of(t1).nameWithPrefix('app-migrate') !== VersionKey.of(t2).nameWithPrefix('app-migrate');
    }), { numRuns: 2000 });
  });

  test('distinct tags that differ only in case or separators give distinct names', () => {
    const lookalike = validTag.chain(t => fc.constantFrom(
      t.toUpperCase(), t.toLowerCase(), t.replace(/\./g, '-'), t.replace(/-/g, '_'), t.replace(/_/g, '.'),
    ).map(u => [t, u] as const));
    fc.assert(fc.property(lookalike, ([t, u]) => {
      fc.pre(t !== u && OCI_TAG.test(u));
      return VersionKey.of(t).nameWithPrefix('app-migrate') !== VersionKey.of(u).nameWithPrefix('app-migrate');
    }), { numRuns: 2000 });
  });

  /** A DNS-1035 label of 1-63 characters: what MigratedService accepts as a service name. */
  const serviceName = fc.tuple(
    fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz'),
    fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'), maxLength: 61 }),
    fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'),
  ).map(([a, mid, z]) => (a + mid + z).slice(0, 63)).filter(n => !n.endsWith('-'));

  test('for any service name up to 63 characters and any tag, the Job name is a DNS-1123 label of at most 63', () => {
    fc.assert(fc.property(serviceName, validTag, (name, tag) => {
      const jobName = VersionKey.of(tag).nameWithPrefix(`${name}-migrate`);
      return jobName.length <= 63 && DNS_LABEL.test(jobName) && jobName === VersionKey.of(tag).nameWithPrefix(`${name}-migrate`);
    }), { numRuns: 2000 });
  });

  test('two long service names that share their first 60 characters never share a Job name', () => {
    const longPair = fc.tuple(serviceName, fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 1, maxLength: 3 }),
      fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 1, maxLength: 3 }))
      .map(([base, x, y]) => {
        const stem = base.padEnd(60, 'x').slice(0, 60);
        return [stem + x, stem + y] as const;
      });
    fc.assert(fc.property(longPair, validTag, ([a, b], tag) => {
      fc.pre(a !== b);
      const key = VersionKey.of(tag);
      return key.nameWithPrefix(`${a}-migrate`) !== key.nameWithPrefix(`${b}-migrate`)
        && fitName(`${a}-migrate`) !== fitName(`${b}-migrate`)
        && fitName(`${a}-migration-waiter`) !== fitName(`${b}-migration-waiter`);
    }), { numRuns: 1000 });
  });

  test('for a 63-character service name, distinct tags give distinct Job names', () => {
    const name = 'a-very-long-service-name-for-the-billing-reconciliation-backend';
    expect(name).toHaveLength(63);
    fc.assert(fc.property(validTag, validTag, (t1, t2) => {
      fc.pre(t1 !== t2);
      return VersionKey.of(t1).nameWithPrefix(`${name}-migrate`) !== VersionKey.of(t2).nameWithPrefix(`${name}-migrate`);
    }), { numRuns: 2000 });
  });

  test('for any valid tag, the label value is a valid label value', () => {
    fc.assert(fc.property(validTag, tag => {
      const v = VersionKey.of(tag).labelValue;
      return v.length <= 63 && LABEL_VALUE.test(v);
    }), { numRuns: 2000 });
  });

  test('any string that is not an OCI tag or sha256 digest is rejected, naming imageTag', () => {
    fc.assert(fc.property(fc.string({ maxLength: 140 }), s => {
      fc.pre(!OCI_TAG.test(s) && !/^@?sha256:[a-f0-9]{64}$/.test(s));
      try {
        VersionKey.of(s);
        return false;
      } catch (e) {
        return (e as Error).message.startsWith(`Invalid imageTag ${JSON.stringify(s)}`);
      }
    }), { numRuns: 2000 });
  });
});

describe('details of names, label values and messages', () => {
  test('GIVEN a tag of separators only WHEN made a label value THEN it is the hash alone', () => {
    expect(VersionKey.of('___').labelValue).toBe(VersionKey.hash('___'));
    expect(VersionKey.of('_.-_').labelValue).toBe(VersionKey.hash('_.-_'));
  });

  test('GIVEN a 128-character tag that is no label value WHEN made a label value THEN it is cut to exactly 63 with the hash', () => {
    const tag = `${'a'.repeat(127)}_`;
    expect(VersionKey.of(tag).labelValue).toBe(`${'a'.repeat(52)}-${VersionKey.hash(tag)}`);
    // Leading and trailing separators go after the cut.
    const padded = `_${'a'.repeat(126)}_`;
    expect(VersionKey.of(padded).labelValue).toBe(`${'a'.repeat(51)}-${VersionKey.hash(padded)}`);
  });

  test('GIVEN a tag cut to fit a name WHEN the cut ends on a separator THEN the dash is dropped before the hash', () => {
    // room = 63 - 13 - 10 - 2 = 38: the 38th character of the sanitized tag is a "-".
    const tag = `${'a'.repeat(37)}.b${'c'.repeat(10)}`;
    expect(VersionKey.of(tag).nameWithPrefix('myapp-migrate')).toBe(`myapp-migrate-${'a'.repeat(37)}-${VersionKey.hash(tag)}`);
  });

  test('GIVEN the default hash length WHEN hashing THEN it is 10 lowercase hex characters of sha256, and a length can be asked for', () => {
    expect(VersionKey.hash('v1.2.3')).toMatch(/^[0-9a-f]{10}$/);
    expect(VersionKey.hash('v1.2.3', 16)).toMatch(/^[0-9a-f]{16}$/);
    expect(VersionKey.hash('v1.2.3', 16).startsWith(VersionKey.hash('v1.2.3'))).toBe(true);
    expect(VersionKey.hash('abc', 64)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  test('GIVEN a whole image reference WHEN refused THEN the rule is spelled as a sentence', () => {
    expect(() => VersionKey.of('myapp:v1')).toThrow('pass only the tag (the part after ":") in imageTag and the repository in image. An OCI tag is 1-128 characters');
  });

  test('GIVEN isDnsLabel WHEN asked THEN it accepts labels up to 63 characters only', () => {
    expect(VersionKey.isDnsLabel('a'.repeat(63))).toBe(true);
    expect(VersionKey.isDnsLabel('a'.repeat(64))).toBe(false);
    expect(VersionKey.isDnsLabel('a-b')).toBe(true);
    expect(VersionKey.isDnsLabel('-ab')).toBe(false);
    expect(VersionKey.isDnsLabel('A')).toBe(false);
  });

  test('GIVEN a tag of 128 characters WHEN parsed THEN it is accepted; 129 is refused', () => {
    expect(VersionKey.of('a'.repeat(128)).value).toHaveLength(128);
    expect(() => VersionKey.of('a'.repeat(129))).toThrow('it is 129 characters long');
  });
});

describe('edges Stryker found unpinned', () => {
  const DIGEST_HEX = 'c'.repeat(64);

  test('GIVEN a digest with one hex character too many WHEN parsed THEN it is refused', () => {
    expect(() => VersionKey.of(`sha256:${DIGEST_HEX}0`)).toThrow(/looks like a digest but is not "sha256:" followed by 64/);
  });

  test('GIVEN a digest with an "@" inside WHEN parsed THEN it is refused: only a leading "@" is dropped', () => {
    expect(() => VersionKey.of(`sha256:${'c'.repeat(32)}@${'c'.repeat(32)}`)).toThrow(/looks like a digest but is not/);
  });

  test('GIVEN a value that is not a string WHEN parsed THEN it is refused naming imageTag, not a TypeError', () => {
    expect(() => VersionKey.of(5 as unknown as string)).toThrow(/^Invalid imageTag 5: it is empty/);
    expect(() => VersionKey.of(null as unknown as string)).toThrow(/^Invalid imageTag null: it is empty/);
  });

  test('GIVEN a one-character tag WHEN named THEN it is used verbatim (a one-character DNS label is valid)', () => {
    expect(VersionKey.of('a').nameWithPrefix('x')).toBe('x-a');
    expect(VersionKey.isDnsLabel('a')).toBe(true);
  });

  test('GIVEN a valid tag that makes the name exactly 63 characters WHEN named THEN it is used verbatim', () => {
    const tag = 'a'.repeat(61);
    expect(VersionKey.of(tag).nameWithPrefix('x')).toBe(`x-${tag}`);
  });

  test('GIVEN a run of separators in a tag WHEN named THEN it becomes one "-"', () => {
    expect(VersionKey.of('v1..2').nameWithPrefix('p')).toBe(`p-v1-2-${VersionKey.hash('v1..2')}`);
  });

  test('GIVEN a digest WHEN made a label value THEN ":" becomes "-" and it is cut before the hash', () => {
    const digest = `sha256:${DIGEST_HEX}`;
    expect(VersionKey.of(digest).labelValue).toBe(`sha256-${'c'.repeat(45)}-${VersionKey.hash(digest)}`);
  });

  test('GIVEN tags ending in separators WHEN made label values THEN only the trailing run goes', () => {
    expect(VersionKey.of('v1.2_').labelValue).toBe(`v1.2-${VersionKey.hash('v1.2_')}`);
    expect(VersionKey.of('v1.2__').labelValue).toBe(`v1.2-${VersionKey.hash('v1.2__')}`);
  });

  test('GIVEN label values WHEN checked THEN empty and 63 characters are valid, 64 is not', () => {
    expect(isLabelValue('')).toBe(true);
    expect(isLabelValue('a'.repeat(63))).toBe(true);
    expect(isLabelValue('a'.repeat(64))).toBe(false);
  });

  test('GIVEN bad tags WHEN refused THEN the message lists every bad character and the digest alternative', () => {
    expect(() => VersionKey.of('v1 2+3')).toThrow('it contains " ", "+"; an OCI tag is 1-128 characters of [A-Za-z0-9_.-] and must not start with "." or "-" (or pass a digest "sha256:<64 hex>")');
  });

  test('GIVEN a 128-character tag with a bad character WHEN refused THEN the character is named, not the length', () => {
    expect(() => VersionKey.of(`${'a'.repeat(127)} `)).toThrow('it contains " "');
  });
});

describe('fitName', () => {
  test('GIVEN a name of exactly 63 characters WHEN fitted THEN it is kept as is', () => {
    expect(fitName('a'.repeat(63))).toBe('a'.repeat(63));
  });

  test('GIVEN a long name whose cut ends on dashes WHEN fitted THEN the dashes go before the "-<hash>"', () => {
    const name = `${'a'.repeat(50)}--${'b'.repeat(20)}`;
    expect(fitName(name)).toBe(`${'a'.repeat(50)}-${VersionKey.hash(name)}`);
  });
});
