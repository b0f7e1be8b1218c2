--  Hello world in Ada.
with Ada.Command_Line; use Ada.Command_Line;
with Ada.Environment_Variables;
with Ada.Text_IO; use Ada.Text_IO;

procedure Hello is
begin
   Put ("hello");
   for I in 1 .. Argument_Count loop
      Put (" " & Argument (I));
   end loop;
   New_Line;
   if Ada.Environment_Variables.Exists ("GREETING") then
      Put_Line ("GREETING=" & Ada.Environment_Variables.Value ("GREETING"));
   else
      Put_Line ("GREETING=(unset)");
   end if;
end Hello;
