! The conformance contract in Fortran: arguments, environment, stdin, a
! growing heap array, the QVM protocol and an exit status.
!
! Standard input is read with POSIX read(2) through ISO_C_BINDING: gfortran
! cannot reopen the preconnected unit 5 for stream access, and formatted
! (record) reads cannot tell whether the last line ended with a newline.
program main
  use, intrinsic :: iso_c_binding, only: c_int, c_size_t, c_ssize_t => c_long, c_char
  implicit none

  interface
    function c_read(fd, buf, count) bind(c, name='read') result(n)
      import :: c_int, c_size_t, c_ssize_t, c_char
      integer(c_int), value :: fd
      character(kind=c_char), dimension(*) :: buf
      integer(c_size_t), value :: count
      integer(c_ssize_t) :: n
    end function c_read
  end interface

  integer, parameter :: i8 = selected_int_kind(18)
  integer, parameter :: chunk_size = 65536
  character(kind=c_char) :: chunk(chunk_size)
  character(len=:), allocatable :: word, counter
  integer(i8), allocatable :: xs(:), grown(:)
  integer(i8) :: bytes, lines, sum, n, i, len_xs
  integer(c_ssize_t) :: got
  integer :: nargs, k, wlen, status, ios, env_status

  nargs = command_argument_count()
  status = 0
  if (nargs >= 1) then
    call get_command_argument(1, length=wlen)
    allocate(character(len=wlen) :: word)
    call get_command_argument(1, word)
    read(word, *, iostat=ios) status
    if (ios /= 0) status = 0
    deallocate(word)
  end if
  write(*, '(a,i0)') 'args=', max(nargs - 1, 0)
  do k = 2, nargs
    call get_command_argument(k, length=wlen)
    allocate(character(len=wlen) :: word)
    call get_command_argument(k, word)
    write(*, '(a,i0,a,a)') 'arg', k - 1, '=', word
    deallocate(word)
  end do

  call get_environment_variable('DB_COUNTER', length=wlen, status=env_status)
  if (env_status == 0) then
    allocate(character(len=wlen) :: counter)
    call get_environment_variable('DB_COUNTER', counter)
    write(*, '(a,a)') 'counter=', counter
  else
    write(*, '(a)') 'counter=(unset)'
  end if

  bytes = 0
  lines = 0
  do
    got = c_read(0_c_int, chunk, int(chunk_size, c_size_t))
    if (got <= 0) exit
    bytes = bytes + got
    lines = lines + count(chunk(1:got) == achar(10))
  end do
  write(*, '(a,i0)') 'stdin_bytes=', bytes
  write(*, '(a,i0)') 'stdin_lines=', lines

  ! The array grows one element at a time; when full, a twice as large
  ! array is allocated and the old one moved over (move_alloc).
  len_xs = 0
  allocate(xs(1))
  do i = 0, 99999
    if (len_xs == size(xs, kind=i8)) then
      allocate(grown(2 * size(xs)))
      grown(1:len_xs) = xs(1:len_xs)
      call move_alloc(grown, xs)
    end if
    len_xs = len_xs + 1
    xs(len_xs) = mod(i * i, 1000003_i8)
  end do
  sum = 0
  do i = 1, len_xs
    sum = sum + xs(i)
  end do
  deallocate(xs)
  write(*, '(a,i0)') 'heap_sum=', sum

  n = 0
  if (allocated(counter)) then
    read(counter, *, iostat=ios) n
    if (ios /= 0) n = 0
  end if
  write(*, '(a,i0)') 'DBW=COUNTER=', n + 1
  write(*, '(a)') 'DBP=OLD'
  write(*, '(a)') 'OUT=fortran done'
  flush(6)
  stop status, quiet=.true.
end program main
