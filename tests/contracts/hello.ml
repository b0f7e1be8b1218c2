(* Hello world in OCaml. *)
let () =
  let args = List.tl (Array.to_list Sys.argv) in
  print_string "hello";
  List.iter (fun a -> print_string (" " ^ a)) args;
  print_newline ();
  let g = try Sys.getenv "GREETING" with Not_found -> "(unset)" in
  print_endline ("GREETING=" ^ g)
