// Podwarden webshell rules: signals shared by every server-side language.

rule generic_reverse_shell_payload
{
    meta:
        description = "reverse or bind shell payload (shell wired to a socket)"
        category = "any"
        score = 55
    strings:
        $devtcp = /(ba)?sh\s+-i\s*[>&]{1,3}\s*\/dev\/tcp\//
        $nc_e = /\bnc(at)?\s+(-[a-z]+\s+)*-e\s+\/bin\/(ba)?sh/
        $dup2 = /dup2\s*\([^)]{0,40}\)[^\n]{0,200}\/bin\/(ba)?sh/
        $mkfifo = /mkfifo\s+\/tmp\/[^\n]{0,60}\/bin\/(ba)?sh\s+-i/
        $perl_socket = /use\s+Socket;[^\n]{0,300}exec\s*\(\s*["']\/bin\/(ba)?sh/
    condition:
        any of them
}
