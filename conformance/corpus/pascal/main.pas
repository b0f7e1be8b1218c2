{ The conformance contract in Free Pascal: arguments, environment, stdin,
  a growing heap array, the QVM protocol and an exit status. }
program Main;

{$mode objfpc}{$H+}

{ BaseUnix only: SysUtils would read the time zone files at start-up. }
uses
  BaseUnix;

function ToInt(const S: AnsiString): Int64;
var
  Code: Word;
begin
  Val(S, Result, Code);
  if Code <> 0 then
    Result := 0;
end;

var
  Status, I: Integer;
  Counter: PChar;
  Chunk: array[0..65535] of Byte;
  Got, J: LongInt;
  Bytes, Lines, Sum, N, Len: Int64;
  Xs: array of Int64;
begin
  Status := 0;
  if ParamCount >= 1 then
    Status := ToInt(ParamStr(1));
  if ParamCount >= 1 then
    WriteLn('args=', ParamCount - 1)
  else
    WriteLn('args=0');
  for I := 2 to ParamCount do
    WriteLn('arg', I - 1, '=', ParamStr(I));

  Counter := fpGetEnv('DB_COUNTER');
  if Counter <> nil then
    WriteLn('counter=', StrPas(Counter))
  else
    WriteLn('counter=(unset)');

  { Standard input, read raw from descriptor 0: counting bytes wants the
    descriptor, not the Text file Input, which reads by lines. }
  Bytes := 0;
  Lines := 0;
  repeat
    Got := fpRead(0, Chunk, SizeOf(Chunk));
    if Got > 0 then
    begin
      Bytes := Bytes + Got;
      for J := 0 to Got - 1 do
        if Chunk[J] = 10 then
          Inc(Lines);
    end;
  until Got <= 0;
  WriteLn('stdin_bytes=', Bytes);
  WriteLn('stdin_lines=', Lines);

  { The dynamic array grows one element at a time; when full, SetLength
    reallocates it at twice the capacity. }
  Len := 0;
  SetLength(Xs, 1);
  for I := 0 to 99999 do
  begin
    if Len = Length(Xs) then
      SetLength(Xs, 2 * Length(Xs));
    Xs[Len] := (Int64(I) * I) mod 1000003;
    Inc(Len);
  end;
  Sum := 0;
  for I := 0 to Len - 1 do
    Sum := Sum + Xs[I];
  WriteLn('heap_sum=', Sum);

  N := 0;
  if Counter <> nil then
    N := ToInt(StrPas(Counter));
  WriteLn('DBW=COUNTER=', N + 1);
  WriteLn('DBP=OLD');
  WriteLn('OUT=pascal done');
  Flush(Output);
  Halt(Status);
end.
