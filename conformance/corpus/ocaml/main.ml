(* The conformance contract in OCaml: arguments, environment, stdin, a
   growing heap array, the QVM protocol and an exit status. *)

let to_int s = match int_of_string_opt s with Some n -> n | None -> 0

(* A growable array: when full, a twice as large array is allocated and
   the old contents copied over. *)
type vec = { mutable data : int array; mutable len : int }

let push v x =
  if v.len = Array.length v.data then begin
    let grown = Array.make (max 1 (2 * v.len)) 0 in
    Array.blit v.data 0 grown 0 v.len;
    v.data <- grown
  end;
  v.data.(v.len) <- x;
  v.len <- v.len + 1

let () =
  let argc = Array.length Sys.argv in
  let status = if argc > 1 then to_int Sys.argv.(1) else 0 in
  let words = max (argc - 2) 0 in
  Printf.printf "args=%d\n" words;
  for i = 1 to words do
    Printf.printf "arg%d=%s\n" i Sys.argv.(i + 1)
  done;

  let counter = Sys.getenv_opt "DB_COUNTER" in
  Printf.printf "counter=%s\n"
    (match counter with Some c -> c | None -> "(unset)");

  set_binary_mode_in stdin true;
  let chunk = Bytes.create 65536 in
  let bytes = ref 0 and lines = ref 0 in
  let rec read_all () =
    let got = input stdin chunk 0 (Bytes.length chunk) in
    if got > 0 then begin
      bytes := !bytes + got;
      for i = 0 to got - 1 do
        if Bytes.get chunk i = '\n' then incr lines
      done;
      read_all ()
    end
  in
  read_all ();
  Printf.printf "stdin_bytes=%d\n" !bytes;
  Printf.printf "stdin_lines=%d\n" !lines;

  (* The array grows one element at a time. *)
  let xs = { data = [||]; len = 0 } in
  for i = 0 to 99999 do
    push xs (i * i mod 1000003)
  done;
  let sum = ref 0 in
  for i = 0 to xs.len - 1 do
    sum := !sum + xs.data.(i)
  done;
  Printf.printf "heap_sum=%d\n" !sum;

  let n = match counter with Some c -> to_int c | None -> 0 in
  Printf.printf "DBW=COUNTER=%d\n" (n + 1);
  print_string "DBP=OLD\n";
  print_string "OUT=ocaml done\n";
  exit status
