{ Hello world in Free Pascal (no libc). }
program hello;
uses SysUtils;
var
  i: integer;
  g: string;
begin
  write('hello');
  for i := 1 to ParamCount do write(' ', ParamStr(i));
  writeln;
  g := GetEnvironmentVariable('GREETING');
  if g = '' then g := '(unset)';
  writeln('GREETING=', g);
end.
