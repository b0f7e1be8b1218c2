! Hello world in Fortran.
program hello
  implicit none
  integer :: i, n, length, status
  character(len=256) :: arg, g
  character(len=:), allocatable :: line
  line = 'hello'
  n = command_argument_count()
  do i = 1, n
    call get_command_argument(i, arg)
    line = line // ' ' // trim(arg)
  end do
  write (*, '(a)') line
  call get_environment_variable('GREETING', g, length, status)
  if (status /= 0) g = '(unset)'
  write (*, '(a)') 'GREETING=' // trim(g)
end program hello
