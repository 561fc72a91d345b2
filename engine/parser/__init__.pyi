from engine.parser.dagbag import parse_folder as parse_folder
from engine.parser.discovery import discover_dag_files as discover_dag_files
from engine.parser.processor import FileParseResult as FileParseResult
from engine.parser.processor import ImportErrorInfo as ImportErrorInfo
from engine.parser.processor import parse_file as parse_file
from engine.parser.processor import parse_files as parse_files
from engine.parser.sync import RefreshReport as RefreshReport
from engine.parser.sync import refresh_dags as refresh_dags
