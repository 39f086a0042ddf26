import { MigratedServiceError } from '../src/errors';

describe('MigratedServiceError', () => {
  test.each<[unknown, string]>([
    ['v1 2', 'Invalid imageTag "v1 2": fix it'],
    [undefined, 'Invalid imageTag (undefined): fix it'],
    [['a b'], 'Invalid imageTag ["a b"]: fix it'],
    [42, 'Invalid imageTag 42: fix it'],
  ])('shows %p the way the user wrote it', (value, message) => {
    const e = new MigratedServiceError('imageTag', value, 'fix it');
    expect(e.message).toBe(message);
    expect(e.name).toBe('MigratedServiceError');
    expect(e).toBeInstanceOf(Error);
  });

  test('a value JSON cannot show is shown with String()', () => {
    const circular: any = {};
    circular.self = circular;
    expect(new MigratedServiceError('x', circular, 'fix').message).toBe('Invalid x [object Object]: fix');
    expect(new MigratedServiceError('x', () => 1, 'fix').message).toBe('Invalid x () => 1: fix');
  });
});
