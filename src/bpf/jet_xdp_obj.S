/* The XDP steering program's object (clang -target bpf, src/bpf/jet_xdp.bpf.c),
 * embedded in the library: the xdp: link opens it from memory with
 * bpf_object__open_mem(), so no file has to be found at run time.
 * jet_xdp_obj .. jet_xdp_obj_end are its bytes (hidden: not exported). */
	.section .rodata
	.balign 8
	.globl jet_xdp_obj
	.hidden jet_xdp_obj
jet_xdp_obj:
	.incbin "jet_xdp.o"
	.globl jet_xdp_obj_end
	.hidden jet_xdp_obj_end
jet_xdp_obj_end:
	.section .note.GNU-stack,"",@progbits
