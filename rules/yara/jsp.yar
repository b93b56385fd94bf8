// Podwarden webshell rules: JSP / JSPX (Java servlets pages).
//
// JSP shells run commands through Runtime.exec or ProcessBuilder with request parameters,
// evaluate script text through javax.script, or load attacker-supplied classes: a page
// defines its own ClassLoader, decodes (often AES-decrypts) the request body, calls
// defineClass and invokes the new class with the page context ("memory shell" loaders).

rule jsp_runtime_exec_of_request_input
{
    meta:
        description = "Runtime.exec / ProcessBuilder with request parameters"
        category = "jsp"
        score = 90
    strings:
        $exec_req = /\.exec\s*\(\s*[^;]{0,100}request\.get(Parameter|Header|QueryString|Reader|InputStream)\s*\(/
        $pb_req = /new\s+ProcessBuilder\s*\(\s*[^;]{0,120}request\.get(Parameter|Header|QueryString)\s*\(/
        $cmd_req = /\.command\s*\(\s*[^;]{0,100}request\.get(Parameter|Header)\s*\(/
    condition:
        any of them
}

rule jsp_shell_command_with_request
{
    meta:
        description = "page building a /bin/sh -c or cmd /c command line and reading request parameters"
        category = "jsp"
        score = 80
    strings:
        $sh = /"(\/bin\/(ba)?sh|sh|bash|cmd(\.exe)?)"\s*,\s*"(-c|\/c|\/C)"/
        $exec = /(Runtime\.getRuntime\s*\(\s*\)\s*\.exec|new\s+ProcessBuilder)\s*\(/
        $req = /request\.get(Parameter|Header)\s*\(/
    condition:
        $sh and $exec and $req
}

rule jsp_exec_small_page
{
    meta:
        description = "small JSP running processes and reading request parameters"
        category = "jsp"
        score = 65
    strings:
        $page = /<%|<jsp:(scriptlet|directive)/
        $exec = /(Runtime\.getRuntime\s*\(\s*\)\s*\.exec|new\s+ProcessBuilder|ProcessImpl|UNIXProcess)/
        $req = /request\.get(Parameter|Header|InputStream|Reader)\s*\(/
    condition:
        filesize < 8KB and $page and $exec and $req
}

rule jsp_reflective_runtime
{
    meta:
        description = "Runtime / ProcessBuilder reached by reflection (class name as a string)"
        category = "jsp"
        score = 70
    strings:
        $runtime = /forName\s*\(\s*"java\.lang\.(Runtime|ProcessBuilder|ProcessImpl|UNIXProcess)"/
        $split = /"java\.lang\.(Run|Proc|Runt)"\s*\+\s*"/
        $method = /getMethod\s*\(\s*"(exec|getRuntime|start)"/
        $declared = /getDeclaredMethod\s*\(\s*"(exec|getRuntime|start|forkAndExec)"/
    condition:
        ($runtime or $split) and ($method or $declared)
}

rule jsp_class_loader_from_request
{
    meta:
        description = "page defining classes from request bytes (encrypted/base64 class loader shell)"
        category = "jsp"
        score = 95
    strings:
        $define = /\.defineClass\s*\(|\bdefineClass\s*\(/
        $loader = /extends\s+ClassLoader|new\s+ClassLoader|URLClassLoader|defineAnonymousClass|MethodHandles\.lookup/
        $input1 = /request\.get(InputStream|Reader|Parameter|Header)\s*\(/
        $input2 = /getInputStream\s*\(\s*\)/
        $decode1 = /Base64|decodeBuffer|BASE64Decoder|parseBase64Binary/
        $decode2 = /Cipher\.getInstance|SecretKeySpec|"AES"/
    condition:
        $define and $loader and any of ($input*) and any of ($decode*)
}

rule jsp_instance_equals_context
{
    meta:
        description = "freshly loaded class invoked through equals(pageContext) or equals(request)"
        category = "jsp"
        score = 85
    strings:
        $eq1 = /newInstance\s*\(\s*\)\s*\.equals\s*\(/
        $eq2 = /\.equals\s*\(\s*(pageContext|new\s+Object\s*\[\s*\]\s*\{\s*request)/
        $define = /defineClass/
    condition:
        ($eq1 and $define) or ($eq2 and $define)
}

rule jsp_script_engine_eval_request
{
    meta:
        description = "javax.script engine evaluating request input"
        category = "jsp"
        score = 90
    strings:
        $eval_req = /\.eval\s*\(\s*[^;]{0,80}request\.get(Parameter|Header|Reader|InputStream)\s*\(/
        $engine = /getEngineByName\s*\(\s*"(js|javascript|nashorn|JavaScript|groovy|rhino)"\s*\)/
        $req = /request\.get(Parameter|Header)\s*\(/
        $eval = /\.eval\s*\(/
    condition:
        $eval_req or ($engine and $req and $eval and filesize < 16KB)
}

rule jsp_file_write_from_request
{
    meta:
        description = "page writing a file at a request-chosen path (JSP dropper / file manager)"
        category = "jsp"
        score = 70
    strings:
        $fos_req = /new\s+(FileOutputStream|FileWriter|RandomAccessFile|PrintWriter)\s*\(\s*[^;]{0,80}request\.getParameter\s*\(/
        $file_req = /new\s+File\s*\(\s*[^;]{0,40}request\.getParameter\s*\([^;]{0,200}\.(write|delete|renameTo|listFiles)\s*\(/
        $nio_req = /Files\.(write|copy|delete)\s*\(\s*[^;]{0,60}request\.getParameter\s*\(/
    condition:
        any of them
}

rule jsp_expression_injection_shell
{
    meta:
        description = "JSP expression-language or scriptlet payload running a process"
        category = "jsp"
        score = 70
    strings:
        $el = /\$\{[^}]{0,120}(Runtime|ProcessBuilder)[^}]{0,120}\}/
        $scriptlet = /<%=?[^%]{0,200}Runtime\.getRuntime\s*\(\s*\)\.exec\s*\(/
        $param = /param\.\w+|request\.getParameter/
    condition:
        ($el or $scriptlet) and $param
}

rule jsp_memory_shell_injector
{
    meta:
        description = "page registering a filter, servlet or listener at run time (memory shell injector)"
        category = "jsp"
        score = 85
    strings:
        $c1 = "addFilterDef"
        $c2 = "addFilterMapBefore"
        $c3 = "ApplicationFilterConfig"
        $c4 = "addServletMappingDecoded"
        $c5 = "addApplicationEventListener"
        $c6 = "FilterDef"
        $c7 = "StandardContext"
        $c8 = "createWrapper"
        $page = /<%|<jsp:/
        $reflect = /getDeclaredField\s*\(|setAccessible\s*\(\s*true/
    condition:
        $page and $reflect and 3 of ($c*)
}

rule jsp_exec_with_file_manager
{
    meta:
        description = "JSP combining process execution, request parameters and file management (file-manager shell)"
        category = "jsp"
        score = 70
    strings:
        $page = /<%|<jsp:/
        $exec = /Runtime\.getRuntime\s*\(\s*\)\s*\.exec\s*\(|new\s+ProcessBuilder\s*\(/
        $req = /request\.getParameter\s*\(/
        $f1 = /new\s+FileOutputStream\s*\(/
        $f2 = /\.listFiles\s*\(/
        $f3 = /\.delete\s*\(\s*\)/
        $f4 = /\.renameTo\s*\(/
        $f5 = /\.mkdirs?\s*\(\s*\)/
        $f6 = /multipart\/form-data/
    condition:
        $page and $exec and $req and 3 of ($f*)
}
