--  The conformance contract in Ada: arguments, environment, stdin, a
--  growing heap vector, the QVM protocol and an exit status.
with Ada.Command_Line;
with Ada.Containers.Vectors;
with Ada.Environment_Variables;
with Ada.Streams;
with Ada.Strings.Fixed;
with Ada.Text_IO;
with Ada.Text_IO.Text_Streams;

procedure Main is
   use Ada.Streams;
   use Ada.Text_IO;

   package Int_Vectors is new Ada.Containers.Vectors
     (Index_Type => Natural, Element_Type => Long_Long_Integer);

   function Image (N : Long_Long_Integer) return String is
     (Ada.Strings.Fixed.Trim (Long_Long_Integer'Image (N), Ada.Strings.Left));

   function To_Integer (S : String) return Long_Long_Integer is
   begin
      return Long_Long_Integer'Value (S);
   exception
      when Constraint_Error =>
         return 0;
   end To_Integer;

   package CL renames Ada.Command_Line;
   package Env renames Ada.Environment_Variables;

   Status  : Long_Long_Integer := 0;
   Words   : constant Natural := (if CL.Argument_Count > 1 then CL.Argument_Count - 1 else 0);
   Has_Counter : constant Boolean := Env.Exists ("DB_COUNTER");
   Counter : Long_Long_Integer := 0;

   Input  : constant Text_Streams.Stream_Access :=
     Text_Streams.Stream (Standard_Input);
   Chunk  : Stream_Element_Array (1 .. 65536);
   Last   : Stream_Element_Offset;
   Bytes  : Long_Long_Integer := 0;
   Lines  : Long_Long_Integer := 0;

   Xs  : Int_Vectors.Vector;
   Sum : Long_Long_Integer := 0;
begin
   if CL.Argument_Count >= 1 then
      Status := To_Integer (CL.Argument (1));
   end if;
   Put_Line ("args=" & Image (Long_Long_Integer (Words)));
   for I in 1 .. Words loop
      Put_Line ("arg" & Image (Long_Long_Integer (I)) & "=" & CL.Argument (I + 1));
   end loop;

   if Has_Counter then
      Put_Line ("counter=" & Env.Value ("DB_COUNTER"));
      Counter := To_Integer (Env.Value ("DB_COUNTER"));
   else
      Put_Line ("counter=(unset)");
   end if;

   --  Standard input as a stream of raw bytes.
   loop
      Read (Input.all, Chunk, Last);
      exit when Last < Chunk'First;
      Bytes := Bytes + Long_Long_Integer (Last - Chunk'First + 1);
      for I in Chunk'First .. Last loop
         if Chunk (I) = 10 then
            Lines := Lines + 1;
         end if;
      end loop;
   end loop;
   Put_Line ("stdin_bytes=" & Image (Bytes));
   Put_Line ("stdin_lines=" & Image (Lines));

   --  The vector grows one element at a time (Append reallocates).
   for I in Long_Long_Integer range 0 .. 99_999 loop
      Xs.Append ((I * I) mod 1_000_003);
   end loop;
   for X of Xs loop
      Sum := Sum + X;
   end loop;
   Put_Line ("heap_sum=" & Image (Sum));

   Put_Line ("DBW=COUNTER=" & Image (Counter + 1));
   Put_Line ("DBP=OLD");
   Put_Line ("OUT=ada done");
   Flush;
   CL.Set_Exit_Status (CL.Exit_Status (Status));
end Main;
