import { z } from 'zod';
// What a password must be: at least 12 characters, not blank, not one repeated character or an
// obvious run, and not in a built-in list of passwords attackers try first.
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

/** Common passwords of 12 or more characters (shorter ones fail the length rule anyway). */
const COMMON = new Set([
  '123456789012', '1234567890123', '12345678901234', '123456789123', '1234567891011', '111111111111', '000000000000',
  '123123123123', '112233445566', '098765432109', '147258369147', 'qwertyuiopas', 'qwertyuiop12', 'qwertyuiop123',
  'qwerty123456', '1q2w3e4r5t6y', '1qaz2wsx3edc', 'zaq12wsxcde3', 'asdfghjkl123', 'asdfghjklqwe', 'zxcvbnm12345',
  'password1234', 'password12345', 'password123456', 'password!234', 'passw0rd1234', 'p@ssw0rd1234', 'p@ssword1234',
  'passwordpassword', 'password1password1', 'mypassword123', 'mypassword1234', 'newpassword123', 'changeme1234',
  'changeme12345', 'changemenow1', 'letmein12345', 'letmeinplease', 'welcome12345', 'welcome123456', 'welcometo2024',
  'iloveyou1234', 'iloveyou12345', 'sunshine1234', 'princess1234', 'football1234', 'baseball1234', 'superman1234',
  'administrator', 'administrator1', 'administrator123', 'admin1234567', 'admin12345678', 'adminadmin123', 'adminpassword',
  'admin-password', 'admin_password', 'rootpassword', 'root12345678', 'toor12345678', 'default12345', 'defaultpassword',
  'secret123456', 'topsecret123', 'trustno1trustno1', 'masterpassword', 'master123456', 'dragon123456', 'monkey123456',
  'abcdefghijkl', 'abcdefgh1234', 'abcd12345678', 'abc123456789', 'aaaaaaaaaaaa', 'qqqqqqqqqqqq', 'correcthorsebatterystaple',
  'thequickbrownfox', 'starwars1234', 'pokemon12345', 'computer1234', 'internet1234', 'whatever1234', 'nothing12345',
  'hello1234567', 'helloworld123', 'helloworld1234', 'test12345678', 'testtesttest', 'testpassword', 'testing12345',
  'demo-admin-12', 'demopassword', 'demo12345678', 'guest1234567', 'user12345678', 'username1234', 'letmein123456',
  'energy123456', 'charging1234', 'chargepoint1', 'chargepoint123', 'ems-password', 'emspassword1', 'ems123456789',
]);

/** Why `password` is not acceptable, or undefined when it is. */
export function passwordProblem(password: string): string | undefined {
  if ([...password].length < MIN_PASSWORD_LENGTH) return `at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `at most ${MAX_PASSWORD_LENGTH} characters`;
  if (password.trim() === '') return 'not only blanks';
  const lower = password.normalize('NFKC').toLowerCase();
  if (new Set(lower).size <= 2) return 'more than two different characters';
  if (COMMON.has(lower) || COMMON.has(lower.replace(/[\s\-_.!]+$/g, ''))) return 'not one of the most common passwords';
  if (isRun(lower)) return 'not a keyboard or number run';
  return undefined;
}

/** 0123456789..., abcdef..., and their reverses. */
function isRun(text: string): boolean {
  let up = true;
  let down = true;
  for (let i = 1; i < text.length; i++) {
    const step = text.charCodeAt(i) - text.charCodeAt(i - 1);
    if (step !== 1) up = false;
    if (step !== -1) down = false;
  }
  return up || down;
}

/** A new password in a request body: the policy as a schema, so a weak one is a 400 naming the rule. */
export const newPassword = z
  .string()
  .max(MAX_PASSWORD_LENGTH)
  .superRefine((password, ctx) => {
    const problem = passwordProblem(password);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
